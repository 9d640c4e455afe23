"""ExpertPool: the shared Sichuan–Chongqing pool of science and technology experts."""

__version__ = "0.1.0"

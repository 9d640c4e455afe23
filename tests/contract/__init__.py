"""The contract suite: one set of tests run against every ExpertStore implementation."""

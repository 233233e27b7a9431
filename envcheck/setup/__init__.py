"""`envcheck setup`: create or bring in line an environment from a profile; ``backends`` know each kind."""

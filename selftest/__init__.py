"""`make selftest`: a TEST_CONNECTION through a deployed (or the local) stack, hop by hop, in plain words."""

"""The test suite, a package so that test modules are named after their folders (``tests.curation.dedup.
test_minhash``): equal file names in different folders do not clash, and no test folder shadows a project package."""

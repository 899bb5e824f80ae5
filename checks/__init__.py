"""The paper's claims and the verification suite, as executable checks."""

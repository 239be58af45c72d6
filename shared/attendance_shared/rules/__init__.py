"""Pure attendance rules from the DfE guidance: no I/O, tested without a database."""

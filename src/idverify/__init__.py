"""idverify."""

"""Secret references: parsing, backends (Vault, SOPS, env, file) and output modes."""

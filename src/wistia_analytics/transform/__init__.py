"""Bronze -> Silver -> Gold: model definitions (SQL, written once), engines that run them, publishing."""

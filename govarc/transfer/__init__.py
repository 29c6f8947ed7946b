"""Transfer to the archives (移交与接收): the documents, the agency's runs and receipts, the archives' acceptance."""

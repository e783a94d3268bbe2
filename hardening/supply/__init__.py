"""Supply chain: the SBOM of the scanned image."""

"""What matters first: which vulnerabilities are exploited in the wild (CISA's Known Exploited
Vulnerabilities catalog) and how likely exploitation is (FIRST's EPSS scores).

``data`` reads the two published files and ``apply`` marks findings with them (both pure);
``sources`` downloads the files into the run's cache at most once a day (the adapter), and
``stage`` is the pipeline's "exploit data" stage, after the merge: it marks every
vulnerability (Trivy's too) and says when a gate that needs the data cannot have it fresh.
"""

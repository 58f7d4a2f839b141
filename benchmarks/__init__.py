"""Speed and memory benchmarks of the connectors against the raw tools and dlt (`make bench`)."""

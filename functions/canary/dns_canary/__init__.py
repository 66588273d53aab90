"""DNS canary: probes DNS from inside a VPC the way its Lambda functions resolve names."""

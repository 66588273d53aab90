"""The checker: notices DHCP option-set (and related) changes that break DNS for VPC Lambdas."""

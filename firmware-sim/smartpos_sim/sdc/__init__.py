"""A simulated TaxCore SDC (Serbia's sales data controller): ``smartpos-sim sdc``."""

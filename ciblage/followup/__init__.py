"""Promotion follow-up: the ledger agencies fill, outcomes, cool-down and impact report.

Targeting alone did not bring people back to work; following promotions up did. This
package records what agencies did with their lists (`ledger`), finds possible successes
in the data (`outcomes`), pauses companies that never answer (`cooldown`) and measures
the result against the 12 % goal (`impact`).
"""

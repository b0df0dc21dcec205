"""pyairtable-infra: read the stack's config and hand it to the program of its kind of stack.

Stack `org` declares the GitHub organization; stacks `dev`, `staging` and `prod` declare one AWS
environment each. No resource is declared by two stacks. Every stack exports its priced bill.
"""

from components.config.org import OrgConfig
from components.config.stack_file import read_stack_config
from components.cost.bill import export_cost
from components.cost.prices import load_prices
from components.shared.catalog import load_catalog
from components.stacks.environment import environment_stack
from components.stacks.org import org_stack

config = read_stack_config()
catalog = load_catalog()

if isinstance(config, OrgConfig):
    org_stack(config, catalog)
else:
    environment_stack(config, catalog)

export_cost(config, catalog, load_prices())

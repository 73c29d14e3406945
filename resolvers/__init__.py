"""Domain rules: reads, writes, state machines, loaders, events. No GraphQL, no HTTP."""

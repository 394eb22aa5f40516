from actors.kind import Kind, KindSetup


def register(setup: KindSetup) -> None:
    pass


KIND = Kind("events", "Service", "Events", "Rose Ash events", register)

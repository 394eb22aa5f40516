from actors.kind import Kind, KindSetup


def register(setup: KindSetup) -> None:
    pass


KIND = Kind("shop", "Service", "Shop", "Rose Ash shop", register)

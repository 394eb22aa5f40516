from actors.kind import Kind, KindSetup


def register(setup: KindSetup) -> None:
    pass


KIND = Kind("blog", "Service", "Blog", "Rose Ash blog", register)

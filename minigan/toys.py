"""stub"""
COMMANDS = ()


def add_parser(subparsers):
    pass


def run(args):
    return 0

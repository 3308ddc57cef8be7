"""The command line: thin click commands that parse, call the engine and print."""

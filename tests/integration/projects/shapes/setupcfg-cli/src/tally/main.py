def cli():
    print("tally: 0 lines")

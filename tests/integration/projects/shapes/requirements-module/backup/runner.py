def run():
    print("backup: nothing to do")

def main() -> int:
    print("admin")
    return 0

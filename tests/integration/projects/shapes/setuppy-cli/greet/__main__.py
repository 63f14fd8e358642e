def main():
    print("greet: hello")


if __name__ == "__main__":
    main()

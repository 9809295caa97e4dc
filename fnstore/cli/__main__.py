from fnstore.cli import main

main()

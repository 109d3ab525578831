from ringround.cli import main

main()

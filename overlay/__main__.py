from overlay.cli import main

main()

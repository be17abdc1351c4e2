from chute.cli_process import main

main()

from brokerstack.cli import main

main()

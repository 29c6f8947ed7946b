from govarc.cli import main

main()

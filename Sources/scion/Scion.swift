import ScionCommands

@main
struct Scion {
    static func main() async {
        await ScionCLI.main()
    }
}

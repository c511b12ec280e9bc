#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    kabar::cli::main()
}

use clap::Parser;

fn main() -> std::process::ExitCode {
    baton::cli::main(baton::cli::Cli::parse())
}

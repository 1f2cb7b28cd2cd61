//! `ferrite-bench`: see `USAGE` and docs/benchmarks.md.

use ferrite_bench::{Command, USAGE, parse_args, regenerate_docs, run};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse_args(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            Ok(())
        }
        Ok(Command::Report) => regenerate_docs(),
        Ok(Command::Run(o)) => run(&o).map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("ferrite-bench: {e}");
        std::process::exit(1);
    }
}

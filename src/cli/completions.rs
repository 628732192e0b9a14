//! `ldslim completions SHELL`: clap's scripts for the commands people run
//! (not the hidden ones), with `--target` completing what it takes: an
//! embedded target's name, `none`, or a directory holding an extracted
//! image.

use clap::builder::PossibleValuesParser;
use clap::{Arg, Command, ValueHint};
use clap_complete::Shell;

/// What `--target` takes besides a directory.
fn target_names() -> Vec<&'static str> {
    let mut names = crate::target::embedded_names();
    names.push("none");
    names
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = completable(super::command(), shell);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ldslim", &mut out);
    match shell {
        Shell::Zsh => zsh_targets(&String::from_utf8_lossy(&out)).into_bytes(),
        _ => out,
    }
}

/// The command as the script should see it. Without the hidden
/// subcommands: clap's generators offer every subcommand, hidden or not,
/// and clap cannot remove one, so the top level is made again from its
/// flags and visible subcommands (in their order, which is the order
/// they are offered in).
fn completable(full: Command, shell: Shell) -> Command {
    Command::new("ldslim")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(
            full.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.clone().mut_args(|a| complete_target(a, shell))),
        )
}

/// `--target` made to complete target names as well as directories, in
/// the way each shell's generator allows. The command only writes the
/// script: what it would accept does not matter, only what it offers.
fn complete_target(arg: Arg, shell: Shell) -> Arg {
    if arg.get_id() != "target" {
        return arg;
    }
    match shell {
        // `compgen -W NAMES`, then `compopt -o plusdirs`: the names and
        // the directories.
        Shell::Bash => arg
            .value_parser(PossibleValuesParser::new(target_names()))
            .value_hint(ValueHint::DirPath),
        // `_files -/`, which `zsh_targets` replaces.
        Shell::Zsh => arg.value_hint(ValueHint::DirPath),
        // The others complete file names, directories among them.
        _ => arg,
    }
}

/// The zsh script with `--target`'s directories (`_files -/`) completed by
/// a function that offers the target names too.
fn zsh_targets(script: &str) -> String {
    let names: Vec<String> = target_names()
        .iter()
        .map(|n| n.replace('\\', "\\\\").replace(':', "\\:"))
        .collect();
    let function = format!(
        "\n(( $+functions[_ldslim_targets] )) ||\n_ldslim_targets() {{\n    \
         _alternative 'targets:target:({})' 'directories:directory:_files -/'\n}}\n",
        names.join(" ")
    );
    let script = script.replace(":TARGET:_files -/'", ":TARGET:_ldslim_targets'");
    // After `#compdef ldslim`: defined before the script's last lines
    // call `_ldslim`.
    match script.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{function}{rest}"),
        None => script,
    }
}

//! What an install brings besides the binary: man pages (`kling.1` and one per
//! subcommand, from the same clap command as `--help`) and shell completions that offer
//! files where a flag takes a file.

use super::{Scratch, assert_exit, kling, text};

#[test]
fn man_pages_cover_kling_and_every_subcommand() {
    let scratch = Scratch::new("man-pages");
    let dir = scratch.path("man");
    let output = kling(&scratch, None, &["__man-pages", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "kling-assets-download.1",
            "kling-assets-get.1",
            "kling-assets.1",
            "kling-batch.1",
            "kling-completions.1",
            "kling-config.1",
            "kling-gallery.1",
            "kling-generate.1",
            "kling-jobs-cancel.1",
            "kling-jobs-get.1",
            "kling-jobs-history.1",
            "kling-jobs-list.1",
            "kling-jobs-wait.1",
            "kling-jobs.1",
            "kling-models-schema.1",
            "kling-models.1",
            "kling-rerun.1",
            "kling-spend.1",
            "kling-upload.1",
            "kling.1",
        ]
    );
    assert_eq!(text(&output.stdout).lines().count(), pages.len());
    let generate = std::fs::read_to_string(dir.join("kling-generate.1")).unwrap();
    assert!(generate.starts_with(".ie"), "roff: {}", &generate[..40]);
    assert!(generate.contains("kling\\-generate"));
    // The model's flags, from the schema, as in `kling generate --help`.
    assert!(generate.contains("\\-\\-start\\-image"));
    let kling_page = std::fs::read_to_string(dir.join("kling.1")).unwrap();
    assert!(kling_page.contains("kling\\-jobs(1)"), "subcommands listed");
}

#[test]
fn completions_offer_files_for_file_flags() {
    let scratch = Scratch::new("completions");
    let completions = |shell: &str| {
        let output = kling(&scratch, None, &["completions", shell])
            .output()
            .unwrap();
        assert_exit(&output, 0);
        text(&output.stdout)
    };
    let zsh = completions("zsh");
    for flag in [
        "--start-image",
        "--end-image",
        "*--reference-image",
        "--ca-cert",
        "--config",
    ] {
        let line = zsh
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("'{flag}=")))
            .unwrap_or_else(|| panic!("zsh: no {flag}"));
        assert!(line.ends_with(":_files' \\"), "zsh {flag}: {line}");
    }
    let fish = completions("fish");
    for flag in ["start-image", "end-image", "reference-image"] {
        let line = fish
            .lines()
            .find(|line| {
                line.contains("__fish_kling_using_subcommand generate")
                    && line.contains(&format!(" -l {flag} "))
            })
            .unwrap_or_else(|| panic!("fish: no {flag}"));
        assert!(line.ends_with(" -r -F"), "fish {flag}: {line}");
    }
}

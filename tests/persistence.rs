//! Persistence that names no published indicator is judged by what the scheduled or boot-time
//! command runs or copies, next to the look-alikes a real appliance holds: the admins' backup
//! through /var/tmp, the CTX267679 line, a certificate restored at boot, a portal customisation.

mod common;

use common::{fixture, scan_json};

#[test]
fn scheduled_and_boot_commands_are_judged_by_what_they_run_or_copy() {
    let (_dir, root) = fixture("cron-persistence-14.1");
    let v = scan_json(&root, &[]).1;
    assert_eq!(v["verdict"], "compromised");
    let at = |path: &str| -> Vec<(String, String, u64)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"] == path)
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                    f["line"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let run = "persist.scheduled-run-from-temp".to_owned();
    let copy = "persist.scheduled-copy-into-web".to_owned();
    // root's crontab: the hidden program (line 5), not the backup redirected into /var/tmp (4).
    assert_eq!(at("/var/cron/tabs/root"), [(run.clone(), "high".into(), 5)]);
    // rc.netscaler: the copy out of the hidden folder (4) is high, the portal customisation (3)
    // is for a human; the mitigation line (1) and the certificate (2) are silent.
    let rc = at("/flash/nsconfig/rc.netscaler");
    assert!(rc.contains(&(run.clone(), "high".into(), 4)), "{rc:?}");
    assert!(rc.contains(&(copy.clone(), "medium".into(), 3)), "{rc:?}");
    assert!(rc.iter().all(|f| f.2 >= 3), "{rc:?}");
    // Every logged run of the job, none of the firmware's own jobs.
    let cron: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "/var/log/cron")
        .collect();
    assert_eq!(cron.len(), 1);
    assert_eq!(cron[0]["count"], 7);
    assert!(
        cron[0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("CMD (/var/nstmp/.sys/upd")
    );
    assert!(
        cron[0]["reason"]
            .as_str()
            .unwrap()
            .contains("in what a command runs or copies")
    );
}

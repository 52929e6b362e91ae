// Package deploy holds deployment material (systemd units, example configs,
// multi-host recipes); it has no Go code beyond this file.
package deploy

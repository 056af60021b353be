// Package targets turns scrape_configs into tailed files: it takes target groups from
// static_configs and kubernetes_sd_configs, applies relabel_configs with Prometheus semantics,
// expands each target's __path__ glob (minus __path_exclude__), and hands every matching file
// to the tail.Manager with a Sink that runs the scrape config's pipeline and sends the result
// to the clients. The file path becomes the `filename` label, as in promtail; labels starting
// with "__" are dropped after relabelling.
//
// Receiver is the same path (relabelling, limits, pipeline, clients) for the targets that are
// sent entries over the network instead: the syslog and lokipush subpackages.
package targets

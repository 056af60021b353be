// Package config reads promtail's YAML configuration file: server, positions, clients,
// scrape_configs (static_configs, kubernetes_sd_configs, relabel_configs, pipeline_stages),
// limits_config and target_config. An existing promtail file loads unchanged; sections Sluice's
// promtail does not implement (journal, syslog, ...) are accepted and reported by Unsupported.
//
// Load reads a file, optionally expanding ${VAR} and ${VAR:-default} from the environment
// (-config.expand-env), applies promtail's defaults and validates the result.
package config

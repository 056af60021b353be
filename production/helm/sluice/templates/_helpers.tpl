{{/* The chart's name, or nameOverride. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, else <release>-<chart> (just <release> when it already holds the chart's name). */}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object of the release carries, beside its selector labels (which hold the instance). */}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end }}

{{/* The server's selector labels. */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: single-binary
{{- end }}

{{/* The server's ServiceAccount. */}}
{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The headless Service governing the StatefulSet. */}}
{{- define "sluice.headlessName" -}}
{{- printf "%s-headless" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image of a component: repository:tag, the tag defaulting to the appVersion. */}}
{{- define "sluice.image" -}}
{{- $img := index . 0 }}{{ $ctx := index . 1 -}}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion $img.tag) }}
{{- end }}

{{/*
The server's configuration file: sluice.config from the values, with the settings the chart
owns (port, auth, log level, the runtime overrides file it mounts) laid over it.
*/}}
{{- define "sluice.config" -}}
{{- $cfg := deepCopy .Values.sluice.config }}
{{- $_ := set $cfg "auth_enabled" .Values.sluice.authEnabled }}
{{- $server := default dict (get $cfg "server") }}
{{- $_ = set $server "http_listen_port" (int .Values.sluice.port) }}
{{- $_ = set $server "log_level" .Values.sluice.logLevel }}
{{- $_ = set $cfg "server" $server }}
{{- if eq .Values.deploymentMode "SimpleScalable" }}
{{- /* Every part shares this file; each pod names its modules with -target. */}}
{{- $_ = unset $cfg "target" }}
{{- end }}
{{- $rc := default dict (get $cfg "runtime_config") }}
{{- $_ = set $rc "file" "/etc/sluice/overrides.yaml" }}
{{- $_ = set $cfg "runtime_config" $rc }}
{{- toYaml $cfg }}
{{- end }}

{{/* Labels of the objects every part shares (ConfigMap, ServiceAccount): the single binary's
selector labels, or in SimpleScalable mode the release's without a component. */}}
{{- define "sluice.sharedLabels" -}}
{{- if eq .Values.deploymentMode "SimpleScalable" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- else -}}
{{ include "sluice.selectorLabels" . }}
{{- end }}
{{- end }}

{{/* The Service that takes pushes: the single binary's, or the write part's. */}}
{{- define "sluice.pushService" -}}
{{- if eq .Values.deploymentMode "SimpleScalable" }}
{{- include "sluice.componentName" (dict "ctx" . "component" "write") }}
{{- else }}
{{- include "sluice.fullname" . }}
{{- end }}
{{- end }}

{{/* promtail's name and labels. */}}
{{- define "sluice.promtailName" -}}
{{- printf "%s-promtail" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.promtailSelectorLabels" -}}
app.kubernetes.io/name: promtail
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* promtail's configuration: it pushes to this release's Service. */}}
{{- define "sluice.promtailConfig" -}}
{{- $client := deepCopy .Values.promtail.client }}
{{- $_ := set $client "url" (printf "http://%s.%s.svc.cluster.local:%d/loki/api/v1/push" (include "sluice.pushService" .) .Release.Namespace (int .Values.service.port)) }}
{{- if .Values.sluice.authEnabled }}
{{- $_ = set $client "tenant_id" .Values.promtail.tenantId }}
{{- end }}
{{- $cfg := dict
  "server" (dict "http_listen_port" (int .Values.promtail.port) "grpc_listen_port" 0 "log_level" "info")
  "positions" (dict "filename" (printf "%s/positions.yaml" .Values.promtail.positionsDir) "sync_period" "10s")
  "clients" (list $client)
  "scrape_configs" .Values.promtail.scrapeConfigs
}}
{{- toYaml $cfg }}
{{- end }}

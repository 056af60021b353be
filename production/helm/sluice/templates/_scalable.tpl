{{/*
The parts of deploymentMode SimpleScalable: write, read and backend. Each helper takes a dict
with "ctx" (the chart's root context) and "component" (write, read or backend, which is also
the part's -target and the key of its values).
*/}}

{{/* A part's name: <fullname>-<component>. */}}
{{- define "sluice.componentName" -}}
{{- printf "%s-%s" (include "sluice.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A part's selector labels. */}}
{{- define "sluice.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Refuses values SimpleScalable cannot run with, before anything reaches the cluster: a storage
that is not S3 (the parts share nothing else), and a backend of more than one pod (a bucket takes
exactly one compactor). The S3 test follows the server's: storage_config.object_store if set,
else a bucket in storage_config.aws or common.storage.s3 (or the -s3.buckets, -s3.url flags).
*/}}
{{- define "sluice.checkSimpleScalable" -}}
{{- $cfg := .Values.sluice.config }}
{{- $store := dig "storage_config" "object_store" "" $cfg }}
{{- $bucket := or (dig "storage_config" "aws" "bucketnames" "" $cfg) (dig "storage_config" "aws" "s3" "" $cfg) (dig "common" "storage" "s3" "bucketnames" "" $cfg) (dig "common" "storage" "s3" "s3" "" $cfg) }}
{{- range .Values.sluice.extraArgs }}
{{- $arg := printf "-%s" (trimPrefix "-" (trimPrefix "-" (toString .))) }}
{{- if or (hasPrefix "-s3.buckets=" $arg) (hasPrefix "-s3.url=" $arg) }}
{{- $bucket = true }}
{{- else if hasPrefix "-store.object-store=" $arg }}
{{- $store = trimPrefix "-store.object-store=" $arg }}
{{- end }}
{{- end }}
{{- if eq (toString $store) "filesystem" }}
{{- fail "deploymentMode SimpleScalable needs S3 object storage, which every pod shares, but sluice.config.storage_config.object_store is filesystem: set it to s3 and configure sluice.config.storage_config.aws (see docs/storage-s3.md)" }}
{{- end }}
{{- if not $bucket }}
{{- fail "deploymentMode SimpleScalable needs S3 object storage, which every pod shares: set sluice.config.storage_config.aws.bucketnames (or common.storage.s3) with its endpoint and credentials (see docs/storage-s3.md), or use deploymentMode SingleBinary" }}
{{- end }}
{{- if ne (int .Values.backend.replicas) 1 }}
{{- fail (printf "backend.replicas is %v, but must be 1: the backend runs the compactor, and a bucket takes exactly one (two would overwrite each other's delete requests)" .Values.backend.replicas) }}
{{- end }}
{{- end }}

{{/* A part's pod template: the single binary's pod, with the part's -target and values. */}}
{{- define "sluice.componentPodTemplate" -}}
{{- $root := .ctx }}
{{- $v := index $root.Values .component -}}
metadata:
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
    {{- include "sluice.componentSelectorLabels" . | nindent 4 }}
    {{- with merge (deepCopy (default dict $v.podLabels)) (default dict $root.Values.podLabels) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods when the configuration changes.
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with merge (deepCopy (default dict $v.podAnnotations)) (default dict $root.Values.podAnnotations) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "sluice.serviceAccountName" $root }}
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ hasKey $v "terminationGracePeriodSeconds" | ternary $v.terminationGracePeriodSeconds $root.Values.terminationGracePeriodSeconds }}
  {{- with default $root.Values.priorityClassName $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: sluice
      image: {{ include "sluice.image" (list $root.Values.image $root) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        - -config.file=/etc/sluice/sluice.yaml
        - -config.expand-env=true
        - -target={{ .component }}
        {{- if eq .component "write" }}
        # Each write pod uploads its index tables under its own, stable name.
        - -boltdb.shipper.ingester-name=$(POD_NAME)
        {{- end }}
        {{- if eq .component "read" }}
        {{- $write := include "sluice.componentName" (dict "ctx" $root "component" "write") }}
        # Lines the write pods have not flushed yet: ask every pod behind their headless Service.
        - -querier.ingester-addresses=dns+{{ printf "%s-headless" $write | trunc 63 | trimSuffix "-" }}.{{ $root.Release.Namespace }}.svc.cluster.local:{{ $root.Values.sluice.port }}
        {{- end }}
        {{- range concat $root.Values.sluice.extraArgs (default list $v.extraArgs) }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- with concat $root.Values.sluice.extraEnv (default list $v.extraEnv) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ $root.Values.sluice.port }}
          protocol: TCP
      readinessProbe:
        {{- toYaml $root.Values.readinessProbe | nindent 8 }}
      startupProbe:
        {{- toYaml $root.Values.startupProbe | nindent 8 }}
      livenessProbe:
        {{- toYaml $root.Values.livenessProbe | nindent 8 }}
      resources:
        {{- toYaml (default $root.Values.resources $v.resources) | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/sluice
          readOnly: true
        - name: data
          mountPath: /data
  volumes:
    - name: config
      configMap:
        name: {{ include "sluice.fullname" $root }}
    {{- if not $v.persistence.volumeClaimsEnabled }}
    - name: data
      emptyDir:
        {{- with $v.persistence.sizeLimit }}
        sizeLimit: {{ . }}
        {{- else }} {}
        {{- end }}
    {{- end }}
  {{- with default $root.Values.nodeSelector $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with default $root.Values.affinity $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with default $root.Values.tolerations $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
The StatefulSet of write or backend: each pod keeps its data (WAL and index tables, or the
compactor's working files) on its own claim, and its name (the host name) is stable.
*/}}
{{- define "sluice.componentStatefulSet" -}}
{{- $root := .ctx }}
{{- $v := index $root.Values .component }}
{{- $name := include "sluice.componentName" . -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
    {{- include "sluice.componentSelectorLabels" . | nindent 4 }}
spec:
  replicas: {{ $v.replicas }}
  serviceName: {{ printf "%s-headless" $name | trunc 63 | trimSuffix "-" }}
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  {{- if $v.persistence.volumeClaimsEnabled }}
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: {{ $v.persistence.whenDeleted }}
    whenScaled: {{ $v.persistence.whenScaled }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "sluice.componentSelectorLabels" . | nindent 6 }}
  template:
    {{- include "sluice.componentPodTemplate" . | nindent 4 }}
  {{- if $v.persistence.volumeClaimsEnabled }}
  volumeClaimTemplates:
    - apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: data
        labels:
          {{- include "sluice.componentSelectorLabels" . | nindent 10 }}
      spec:
        accessModes:
          {{- toYaml $v.persistence.accessModes | nindent 10 }}
        {{- with $v.persistence.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ $v.persistence.size }}
  {{- end }}
{{- end }}

{{/* A part's Service, which clients use, and with headless true the governing Service of its
StatefulSet (stable DNS names for the pods). */}}
{{- define "sluice.componentService" -}}
{{- $root := .ctx }}
{{- $name := include "sluice.componentName" . -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .headless | ternary (printf "%s-headless" $name | trunc 63 | trimSuffix "-") $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
    {{- include "sluice.componentSelectorLabels" . | nindent 4 }}
  {{- if not .headless }}
  {{- with $root.Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
spec:
  {{- if .headless }}
  clusterIP: None
  publishNotReadyAddresses: true
  {{- else }}
  type: {{ $root.Values.service.type }}
  {{- end }}
  selector:
    {{- include "sluice.componentSelectorLabels" . | nindent 4 }}
  ports:
    - name: http-metrics
      port: {{ .headless | ternary $root.Values.sluice.port $root.Values.service.port }}
      targetPort: http-metrics
      protocol: TCP
{{- end }}

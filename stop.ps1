<#
.SYNOPSIS
  Graceful stop of the trading daemon (Windows twin of stop.sh): asks it to finish in-flight
  work, snapshot equity and save the simulated world, then waits for it to exit.
#>
param([string]$Config = "config\default.toml")
$ErrorActionPreference = "Stop"
Set-Location -Path $PSScriptRoot
$venvPython = Join-Path $PSScriptRoot ".venv\Scripts\python.exe"
if (-not (Test-Path $venvPython)) {
    Write-Host "no .venv here: the daemon was never started from this checkout"
    exit 0
}
& $venvPython master_orchestrator.py stop --config $Config
exit $LASTEXITCODE

<#
.SYNOPSIS
  Set up .venv, install the project and start the trading daemon in the background
  (paper mode on the embedded simulated world by default). Windows twin of start.sh.
.EXAMPLE
  powershell -ExecutionPolicy Bypass -File .\start.ps1
  powershell -ExecutionPolicy Bypass -File .\start.ps1 -Foreground
  powershell -ExecutionPolicy Bypass -File .\start.ps1 -Config config\default.toml
#>
param(
    [string]$Config = "config\default.toml",
    [switch]$Foreground,
    [int]$StartupTimeoutSeconds = 120
)
$ErrorActionPreference = "Stop"
Set-Location -Path $PSScriptRoot

function Find-Python {
    $candidates = @(
        @("py", "-3.11"), @("py", "-3.12"), @("py", "-3.13"), @("python", $null), @("python3", $null)
    )
    foreach ($candidate in $candidates) {
        $exe = $candidate[0]
        $flag = $candidate[1]
        if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
        $arguments = @()
        if ($flag) { $arguments += $flag }
        $arguments += @("-c", "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)")
        & $exe @arguments 2>$null
        if ($LASTEXITCODE -eq 0) { return ,@($exe, $flag) }
    }
    throw "Python 3.11 or newer is required (install it from python.org and tick 'Add to PATH')."
}

$venvPython = Join-Path $PSScriptRoot ".venv\Scripts\python.exe"
if (-not (Test-Path $venvPython)) {
    $python = Find-Python
    $venvArgs = @()
    if ($python[1]) { $venvArgs += $python[1] }
    $venvArgs += @("-m", "venv", ".venv")
    & $python[0] @venvArgs
    if ($LASTEXITCODE -ne 0) { throw "creating .venv failed" }
}

# Reinstall only when pyproject.toml changed (same stamp scheme as scripts/bootstrap.sh).
$hash = (Get-FileHash -Algorithm SHA256 -Path "pyproject.toml").Hash.ToLower().Substring(0, 16)
$stamps = @(".venv\.installed-$hash-base", ".venv\.installed-$hash-dev")
$installed = $false
foreach ($stamp in $stamps) { if (Test-Path $stamp) { $installed = $true } }
if (-not $installed) {
    Write-Host "Installing the project into .venv; the first time takes a few minutes..."
    & $venvPython -m pip install --quiet --upgrade pip
    & $venvPython -m pip install --quiet -e .
    if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
    Get-ChildItem -Path ".venv" -Filter ".installed-*" -Force | Remove-Item -Force
    New-Item -ItemType File -Path $stamps[0] -Force | Out-Null
}

# Validate the configuration first: an error names the file and the key, and nothing starts.
$varDir = & $venvPython -c "import sys`nfrom config.loader import ConfigError, load_config`ntry:`n    print(load_config(sys.argv[1]).settings.system.var_dir)`nexcept ConfigError as exc:`n    sys.exit(f'configuration error: {exc}')" $Config
if ($LASTEXITCODE -ne 0) { exit 2 }

if ($Foreground) {
    & $venvPython master_orchestrator.py run --config $Config
    exit $LASTEXITCODE
}

New-Item -ItemType Directory -Path $varDir -Force | Out-Null
$log = Join-Path $varDir "daemon.log"
$errLog = Join-Path $varDir "daemon.err.log"
$pidFile = Join-Path $varDir "daemon.pid"
if (Test-Path $pidFile) {
    $existing = Get-Process -Id ([int](Get-Content $pidFile)) -ErrorAction SilentlyContinue
    if ($existing) {
        Write-Host "daemon already running (pid $($existing.Id)); stop it with .\stop.ps1"
        exit 0
    }
}

$process = Start-Process -FilePath $venvPython -ArgumentList @("master_orchestrator.py", "run", "--config", $Config) `
    -RedirectStandardOutput $log -RedirectStandardError $errLog -WindowStyle Hidden -PassThru
$deadline = (Get-Date).AddSeconds($StartupTimeoutSeconds)
while ((Get-Date) -lt $deadline) {
    # Python's logging writes to stderr.
    if ((Test-Path $errLog) -and (Select-String -Path $errLog -Pattern "daemon running" -Quiet)) {
        Write-Host "daemon running (pid $($process.Id)); log: $errLog"
        # the daemon logs where its dashboard listens (or why it does not)
        $dashboard = Select-String -Path $errLog -Pattern 'dashboard (at http\S+|not started.*|disabled.*)' | Select-Object -Last 1
        if ($dashboard) { Write-Host "  $($dashboard.Matches[0].Value)" }
        Write-Host "  status: .venv\Scripts\python.exe master_orchestrator.py status --config $Config"
        Write-Host "  stop:   .\stop.ps1"
        exit 0
    }
    if ($process.HasExited) {
        Write-Error "the daemon exited during start-up; the end of ${errLog}:"
        Get-Content $errLog -Tail 30
        exit 1
    }
    Start-Sleep -Milliseconds 500
}
Write-Error "no 'daemon running' within $StartupTimeoutSeconds s; still starting? see $errLog"
exit 1

; Inno Setup 6 script: phr-desktop's Windows installer, built by packaging/build.py on Windows
; (or by hand: iscc /DAppVersion=0.1.0 /DSourceDir=..\..\dist\phr-desktop phr-desktop.iss).
; Installs the PyInstaller folder per user by default (no administrator needed), adds Start
; menu entries, and registers .phrshare files so a double-click opens them in phr-desktop.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\phr-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\packaging\phr-desktop.ico"
#endif

[Setup]
; A fixed AppId: upgrades replace the old version instead of installing beside it.
AppId={{6F0C2E51-7A1B-4C7E-9B2D-5A3E8D1F4C60}
AppName=phr-desktop
AppVersion={#AppVersion}
AppVerName=phr-desktop {#AppVersion}
AppPublisher=The phr-desktop developers
DefaultDirName={autopf}\phr-desktop
DefaultGroupName=phr-desktop
DisableProgramGroupPage=yes
; Per user unless the person chooses "install for all users" (then it asks for elevation).
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Tell Explorer about the new .phrshare association when done.
ChangesAssociations=yes
OutputDir={#OutputDir}
OutputBaseFilename=phr-desktop-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\phr-desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
MinVersion=10.0

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\phr-desktop"; Filename: "{app}\phr-desktop.exe"
Name: "{autodesktop}\phr-desktop"; Filename: "{app}\phr-desktop.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Registry]
; .phrshare → ProgID phr-desktop.share → "phr-desktop.exe" "<file>". HKA is HKCU for a
; per-user install and HKLM for all users; the keys go with the uninstaller.
Root: HKA; Subkey: "Software\Classes\.phrshare"; ValueType: string; ValueName: ""; ValueData: "phr-desktop.share"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.phrshare"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-phrshare"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.phrshare\OpenWithProgids"; ValueType: string; ValueName: "phr-desktop.share"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\phr-desktop.share"; ValueType: string; ValueName: ""; ValueData: "Shared health records (phr-desktop)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\phr-desktop.share\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\phr-desktop.exe,0"
Root: HKA; Subkey: "Software\Classes\phr-desktop.share\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\phr-desktop.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\phr-desktop.exe\SupportedTypes"; ValueType: string; ValueName: ".phrshare"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\phr-desktop.exe"; Description: "{cm:LaunchProgram,phr-desktop}"; Flags: nowait postinstall skipifsilent

//! Owner-only folders on Windows: the counterpart of mode 0700.
//!
//! A private folder gets a protected DACL (inherited entries dropped) with
//! one entry: full access for the user authhost runs as, inherited by every
//! file and folder created in it (`OI`, `CI`). Files written there, such as
//! `auth.json` through [`super::write_atomic`], are then readable by that
//! user only. Administrators can still take ownership, as root can read a
//! 0600 file on Unix. Applying the DACL also updates what existing files in
//! the folder inherit.

/// The SDDL of an owner-only folder for the user whose SID is `sid`
/// (`S-1-5-21-...`): protected (`P`), one allow entry (`A`) inherited by
/// files and folders (`OICI`) granting all access (`FA`).
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn owner_only_sddl(sid: &str) -> String {
    format!("D:P(A;OICI;FA;;;{sid})")
}

/// Gives `dir` an owner-only DACL.
#[cfg(windows)]
pub(crate) fn restrict_to_owner(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
        SetNamedSecurityInfoW,
    };
    use windows_sys::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };

    let sddl: Vec<u16> = owner_only_sddl(&current_user_sid()?)
        .encode_utf16()
        .chain([0])
        .collect();
    let path: Vec<u16> = dir.as_os_str().encode_wide().chain([0]).collect();
    // SAFETY: NUL-terminated wide strings; the descriptor the first call
    // allocates is freed with LocalFree after its DACL has been applied.
    unsafe {
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(std::io::Error::last_os_error());
        }
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let result = if GetSecurityDescriptorDacl(
            descriptor,
            &mut present,
            &mut dacl,
            &mut defaulted,
        ) == 0
        {
            Err(std::io::Error::last_os_error())
        } else {
            let status = SetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            );
            if status == ERROR_SUCCESS {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(status as i32))
            }
        };
        LocalFree(descriptor);
        result
    }
}

/// The SID of the user this process runs as, as a string.
#[cfg(windows)]
fn current_user_sid() -> std::io::Result<String> {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    // SAFETY: the token handle and the SID string are released here; the
    // information buffer is 8-byte aligned and as large as the API asked.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut needed = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed);
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8).max(1)];
        let got = GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            needed,
            &mut needed,
        );
        let error = std::io::Error::last_os_error();
        CloseHandle(token);
        if got == 0 {
            return Err(error);
        }
        let user = &*(buffer.as_ptr() as *const TOKEN_USER);
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        Ok(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acl_grants_the_owner_alone_and_drops_inherited_entries() {
        let sddl = owner_only_sddl("S-1-5-21-1004336348-1177238915-682003330-512");
        assert_eq!(
            sddl,
            "D:P(A;OICI;FA;;;S-1-5-21-1004336348-1177238915-682003330-512)"
        );
        // One access entry: no Everyone (WD), Users (BU), Authenticated
        // Users (AU) or SYSTEM (SY) entry.
        assert_eq!(sddl.matches('(').count(), 1);
        for other in ["WD", "BU", "AU", "SY", "BA"] {
            assert!(!sddl.contains(&format!(";;;{other})")), "{other}");
        }
    }
}

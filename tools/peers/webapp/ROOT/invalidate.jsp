<%@ page contentType="text/plain; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%
  // Ends the session, if there is one.
  jakarta.servlet.http.HttpSession s = request.getSession(false);
  if (s != null) s.invalidate();
  out.print("invalidated=" + (s != null) + " node=" + System.getProperty("cohort.node") + "\n");
%>
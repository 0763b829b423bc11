<%@ page contentType="text/plain; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%
  // Reads the counter without changing it or creating a session.
  jakarta.servlet.http.HttpSession s = request.getSession(false);
  out.print("session=" + (s == null ? "none" : s.getId()) + " n=" + (s == null ? null : s.getAttribute("n"))
      + " node=" + System.getProperty("cohort.node") + "\n");
%>